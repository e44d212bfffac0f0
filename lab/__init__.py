"""The lab: training, evaluation and experiment notes. It imports `app`; `app` never imports it
(only `train`/`evaluate` name its entry points as strings, app/commands)."""
