"""Thermablate: plan, record, follow up and audit image-guided thermal ablation of bone and spine."""

__version__ = "0.1.0"
