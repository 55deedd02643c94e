"""Apache Beam pipelines that wire kg/, aligners/ and corpus/ into ``kgtext build-corpus``. Only wiring here."""
