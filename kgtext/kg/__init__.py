"""Knowledge-graph ingestion: RDF / N-Triples / TSV -> typed triples and entity/relation lexicons. Pure Python."""
