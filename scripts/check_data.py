"""Entry point of trainer/check.py: the trainers' data check (make check).

python -m scripts.check_data --help    # from the repository root
"""

import sys

from trainer.check import main

if __name__ == "__main__":
    sys.exit(main())
