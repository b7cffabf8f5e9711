"""Entry point of trainer/oos_eval.py: out-of-scope rejection of a trained model (make eval).

python -m scripts.eval_oos --help    # from the repository root
"""

import sys

from trainer.oos_eval import main

if __name__ == "__main__":
    sys.exit(main())
