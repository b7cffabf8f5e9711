"""Entry point of trainer/nlu_eval.py: the NLU evaluation report (make eval).

python -m scripts.nlu_eval --help    # from the repository root
"""

import sys

from trainer.nlu_eval import main

if __name__ == "__main__":
    sys.exit(main())
