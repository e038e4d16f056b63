"""`python -m api.cli …`: the same command line as the `avm` script."""
import sys

from api.cli import main

# Guarded: a worker process that multiprocessing spawns (`avm serve --workers N`) imports this
# module again as `__mp_main__`, and must not run the command line a second time.
if __name__ == "__main__":
    sys.exit(main())
