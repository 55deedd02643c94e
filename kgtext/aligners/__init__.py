"""Documents + KG names -> cleaned sentences, entity mentions and aligned triples. Pure Python (spaCy allowed)."""
