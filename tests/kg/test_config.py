"""kg.config: KgConfig validation and Wikidata property IRI canonicalisation."""

from __future__ import annotations

import pytest

from kgtext.kg.config import KgConfig, canonical_property_iri


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"preferred_label_predicates": ()}, "preferred_label_predicates"),
        ({"alias_predicates": ("http://www.w3.org/2000/01/rdf-schema#label",)}, "alias_predicates"),
        ({"languages": ()}, "languages"),
        ({"languages": ("en gb",)}, "languages"),
        ({"property_iri_pattern": "("}, "property_iri_pattern"),
        ({"max_rdflib_file_bytes": 0}, "max_rdflib_file_bytes"),
    ],
)
def test_invalid_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        KgConfig(**kwargs)  # type: ignore[arg-type]


def test_label_kind() -> None:
    config = KgConfig()
    assert config.label_kind("http://www.w3.org/2004/02/skos/core#prefLabel") is True
    assert config.label_kind("http://schema.org/alternateName") is False
    assert config.label_kind("http://www.wikidata.org/prop/direct/P17") is None


def test_canonical_property_iri() -> None:
    assert (
        canonical_property_iri("http://www.wikidata.org/entity/P131")
        == "http://www.wikidata.org/prop/direct/P131"
    )
    assert (
        canonical_property_iri("http://www.wikidata.org/entity/Q131") == "http://www.wikidata.org/entity/Q131"
    )
    assert (
        canonical_property_iri("http://www.wikidata.org/entity/Pfoo") == "http://www.wikidata.org/entity/Pfoo"
    )
