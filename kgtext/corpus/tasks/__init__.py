"""Pure builders of the five ERNIE 3.0 pre-training tasks (kmlm, uktp, sr, sd, dlm) and their masking."""
