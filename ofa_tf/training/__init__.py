"""Progressive-shrinking training: work directories, configs, task, trainer, evaluation."""
