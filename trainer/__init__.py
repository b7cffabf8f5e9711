"""The trainers' tools: data check, NLU / out-of-scope / conversation evaluation, review inbox.

Run from the repository root (`make check`, `make eval`, `make review`, or
`python -m scripts.<tool>`); `scripts/` keeps thin entry points with the old names.
Every module reads the NLU YAML through `trainer.nlu_data` and compares texts with
`trainer.text.normalise`.
"""
