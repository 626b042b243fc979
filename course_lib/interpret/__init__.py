"""Looking inside a trained autoencoder: what does each latent respond to?

Reference implementations of lesson 04's graded functions and the tools the lesson builds on,
one module per concern (everything is re-exported here, so ``interpret.make_bars`` works):

* :mod:`.measures` - :func:`top_activating_examples`, :func:`class_mean_activation`,
  :func:`class_selectivity`, :func:`factor_correlations`, :func:`factor_match_score`;
* :mod:`.dashboard` - :func:`feature_dashboard` (one latent's dashboard, as numbers) and
  :func:`bars_goal` (lesson 04's goal experiment: an L1 autoencoder on the bars);
  :func:`class_selectivity`, :func:`factor_correlations`, :func:`factor_match_score`,
  :func:`factor_matches_one_to_one`, :func:`factor_match_score_one_to_one`,
  :func:`shuffled_label_selectivity`;
* :mod:`.datasets` - :func:`make_bars`, :func:`bar_images` (Foldiak's bars, known factors) and
  :data:`TOY_PATTERNS`, :data:`TOY_NAMES`, :func:`toy_dataset` (the three-pattern toy);
* :mod:`.toy` - :func:`train_toy_models`, :func:`activation_table`,
  :func:`one_latent_per_pattern`, :func:`format_tables`: the three-pattern toy experiment;
* :mod:`.figures` - :func:`compare_features`, :func:`top_examples_figure`,
  :func:`selectivity_histogram`, :func:`selectivity_null_figure`, :func:`matched_features_figure`,
  :func:`latent_figure`;
* :mod:`.widgets` - :func:`widgets_available`, :class:`LatentExplorer`, :func:`explore`: a slider
  over all latents.

Shapes: codes ``Z`` are (N, n_latent); labels ``y`` are (N,) int64; ``factors`` are (N, n_factors).
"""
from __future__ import annotations

from .dashboard import BARS_GOAL, bars_goal, feature_dashboard
from .datasets import TOY_NAMES, TOY_PATTERNS, bar_images, make_bars, toy_dataset
from .figures import (compare_features, latent_figure, matched_features_figure, selectivity_histogram,
                      selectivity_null_figure, top_examples_figure)
from .measures import (class_mean_activation, class_selectivity, factor_correlations, factor_match_score,
                       factor_match_score_one_to_one, factor_matches_one_to_one, shuffled_label_selectivity,
                       top_activating_examples)
from .toy import activation_table, format_tables, one_latent_per_pattern, train_toy_models
from .widgets import LatentExplorer, explore, widgets_available

__all__ = [
    "top_activating_examples", "class_mean_activation", "class_selectivity",
    "feature_dashboard", "bars_goal", "BARS_GOAL", "make_bars", "bar_images", "factor_correlations",
    "factor_match_score",
    "factor_matches_one_to_one", "factor_match_score_one_to_one", "shuffled_label_selectivity",
    "TOY_PATTERNS", "TOY_NAMES", "toy_dataset", "train_toy_models", "activation_table",
    "one_latent_per_pattern", "format_tables",
    "compare_features", "top_examples_figure", "selectivity_histogram", "selectivity_null_figure",
    "matched_features_figure",
    "latent_figure", "widgets_available", "LatentExplorer", "explore",
]
