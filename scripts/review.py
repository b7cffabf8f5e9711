"""Entry point of trainer/review.py: the review inbox, export and merge (make review, make review-merge).

python -m scripts.review --help    # from the repository root
"""

import sys

from trainer.review import main

if __name__ == "__main__":
    sys.exit(main())
