"""Function registry, decorators, references, contexts and the executor."""
