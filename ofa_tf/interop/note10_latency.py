"""The released Samsung Note10 latency lookup tables as a latency profile for the search.

The tables (../shared/reference/ofa_note10_lut, `{160,176,192,208,224}_lookup_table.yaml`)
cover the width-1.2 OFA-MobileNetV3 space; a subnet's latency is the sum of the `mean` (ms)
of its layers (reference `LatencyTable` of the OFA release). Loading and prediction are
`ofa_tf.latency` (lookup-table loader and `EfficiencyPredictor`); this adapter only fixes the
space and the device name. Check: the released `note10_lat@{30,41,50}ms` nets sum to 30.0,
40.3 and 50.3 ms at 224 px (`note10_latency_test`).
"""

from __future__ import annotations

from ofa_tf import search_space as ss

SPACE = "ofa_mbv3_w1.2"
RESOLUTIONS = (160, 176, 192, 208, 224)


def note10_predictor(directory: str):
  """An `ofa_tf.latency.predictor.EfficiencyPredictor` over the Note10 tables in `directory`.

  Raises:
    ImportError: `ofa_tf.latency` is not part of this checkout.
    ValueError: no `{r}_lookup_table.yaml` files in `directory`.
  """
  from ofa_tf.latency import lut, predictor  # pylint: disable=g-import-not-at-top
  table = lut.load_note10_tables(directory, space=SPACE, device="note10")
  return predictor.EfficiencyPredictor(table, ss.get_space(SPACE))
