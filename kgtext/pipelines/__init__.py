"""Apache Beam pipelines that wire kg/, aligners/ and corpus/ into ``kgtext build-corpus``. Only wiring here."""

import logging

# Importing Beam logs optional-dependency notices (BigQuery storage, apitools) at INFO/WARNING; they
# say nothing about a kgtext run, so the loggers that emit them are kept at ERROR.
for _name in ("apache_beam.io.gcp.bigquery", "apache_beam.io.gcp.bigquery_tools"):
    logging.getLogger(_name).setLevel(logging.ERROR)
