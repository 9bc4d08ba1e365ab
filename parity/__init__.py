"""The parity suite: minigrad against PyTorch on the protein-solubility CNN.

- :mod:`parity.transfer` - state_dict both ways, with name/shape/dtype checks
- :mod:`parity.lockstep` - the twins step by step, every loss, logit, gradient and parameter compared
- :mod:`parity.train` - independent training of both (early stopping, ReduceLROnPlateau), metrics side by side
- :mod:`parity.report` - terminal tables, Markdown/JSON, PNG plots
- :mod:`parity.swap` - ``python -m parity swap SCRIPT.py``: run a torch script on minigrad

``python -m parity --help`` lists the options of the main job.
"""
