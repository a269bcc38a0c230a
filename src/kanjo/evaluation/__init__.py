"""Evaluation: metrics per task (:mod:`.metrics`) and calibration of the predicted
probabilities (:mod:`.calibration`). Import from the submodules: the calibration helpers are on
the fast ONNX prediction path, which must not import scikit-learn."""
