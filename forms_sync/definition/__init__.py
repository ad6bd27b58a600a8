"""Form definitions: the single source of truth every other part is generated from."""
from forms_sync.definition.model import Field, FormDefinition, Rule, load_definition, load_definitions

__all__ = ["Field", "FormDefinition", "Rule", "load_definition", "load_definitions"]
