"""The look, measured from the two image sets (content photos and style images) in one place.

What a style changes that can be measured before any network learns it: the colour map
between the sets (``transport``, with the subjects of the two sets balanced first:
``balance``), colour where the style draws it (``teacher``: the pseudo-pairs lite learns
from), the frame's vignette (``vignette``), a printed screen's frequencies (``screen``), grain
(``grain``), and which generator family suits the look (``choose``). ``fit.LookFit`` holds
what one training run measures, computed once and read by the teacher, the generator's start
and the saved style (the choice of generator, made before training, reads its own evenly
spaced subsets of the sets, cleaned of vignette and screen).
"""
