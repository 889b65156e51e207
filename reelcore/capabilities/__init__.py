"""What each kind of engine takes and returns: the typed calls between graphs and engines.

One module per capability (asr, translation, speech, face, scenes...). An engine implements a
capability's methods with these models; a graph builds the requests and reads the results with
the same models, so neither picks dicts apart by string keys. Media travel as `MediaRef`s (the
host gives the engine a local `path`); files an engine makes are `Produced` (see
`reelcore.engine`).
"""
