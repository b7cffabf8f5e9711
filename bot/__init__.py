"""Rasa-side code: NLU components, input channels and fixes to Rasa itself.

Rasa imports this package in every process that loads the model (the pipeline's
components and the channels in credentials.yml live here). The fixes in `patches` are
applied by the server's entry point (`python -m bot.serve`), not on import: training,
`rasa test` and the tools that only parse run stock Rasa.
"""
