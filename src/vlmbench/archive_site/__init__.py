"""The static site of an archive (above both ``archive`` and ``report``): build.py (pages, data
files, assets), pages.py (leaderboard, model pages, hardware comparison), svg.py (trend charts)."""
