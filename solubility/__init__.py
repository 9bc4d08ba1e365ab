"""The protein-solubility case study, shared by parity/, benchmarks/ and lessons/.

- :mod:`solubility.encoding` - amino acids to tokens (policy for ambiguous letters)
- :mod:`solubility.readers` - CSV and FASTA readers with file:line errors
- :mod:`solubility.synthetic` - the embedded default dataset (seeded, labelled by a biophysical rule)
- :mod:`solubility.dataset` - Dataset, dynamic-padding collate, length-bucketing sampler
- :mod:`solubility.model` - the course CNN, defined once for torch and minigrad
- :mod:`solubility.metrics` - accuracy, precision, recall, F1, ROC-AUC, MCC, confusion (scikit-learn)
- :mod:`solubility.split` - stratified, partition and homology-aware splits
- :mod:`solubility.features` - 41 sequence-derived features (length, composition, charge, pI, ...)
- :mod:`solubility.models` - the stronger models (multi-kernel CNN, Transformer), defined once for both
- :mod:`solubility.train`, :mod:`solubility.pretrain`, :mod:`solubility.evaluate`,
  :mod:`solubility.serialize` - training recipes, masked-residue pretraining, evaluation, checkpoints
- :mod:`solubility.cli` - ``python -m solubility train|predict|evaluate``
"""

from .dataset import LengthBucketSampler, ProteinDataset, make_collate, pad_batch  # noqa: F401
from .encoding import ALPHABET, PAD, VOCAB_SIZE, SequenceError, decode, encode  # noqa: F401
from .metrics import classification_metrics  # noqa: F401
from .model import build_model, model_class  # noqa: F401
from .readers import DataFormatError, Record, read_csv, read_fasta, read_records  # noqa: F401
from .split import homology_split, partition_split, stratified_split  # noqa: F401
from .synthetic import make_synthetic  # noqa: F401
