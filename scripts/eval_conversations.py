"""Entry point of trainer/conversation_eval.py: task success of the conversation suites (make eval).

python -m scripts.eval_conversations --help    # from the repository root
"""

import sys

from trainer.conversation_eval import main

if __name__ == "__main__":
    sys.exit(main())
