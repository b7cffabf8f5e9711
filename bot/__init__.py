"""Rasa-side code: NLU components, input channels and fixes to Rasa itself.

Rasa imports this package in every server process (the pipeline's components
and the channels in credentials.yml live here), so the fixes in `patches` are
applied before the first message.
"""

from bot import patches

patches.apply()
