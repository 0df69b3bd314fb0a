"""Accuracy predictor, predictor-guided evolutionary search and Pareto fronts (Sec. 3.4)."""

from ofa_tf.search.constraints import (Constraint, InfeasibleConstraintsError, LatencyFactory,
                                       LatencyFn, Metrics)
from ofa_tf.search.accuracy_dataset import Progress, Row, build_accuracy_dataset, read_rows
from ofa_tf.search.efficiency import EfficiencyTables
from ofa_tf.search.encoding import ArchEncoder
from ofa_tf.search.evolution import (Candidate, EvolutionConfig, SearchResult,
                                     evolutionary_search, random_search)
from ofa_tf.search.genes import GeneCodec
from ofa_tf.search.pareto import ParetoResult, default_budgets, pareto_front, pareto_sweep
from ofa_tf.search.accuracy_predictor import (AccuracyPredictor, PredictorReport, PredictorTrainConfig,
                                     train_predictor)
