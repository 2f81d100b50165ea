from vlmbench.cli import main

raise SystemExit(main())
