"""The shared vocabulary of every layer: what a cell of a plan is, the names of the files a run
writes, argparse types for lists. Below ``backends``, ``runner``, ``report`` and ``cli``, which all
import it; it imports nothing of vlmbench."""
