"""Reading and writing the config repository: the safe YAML reader, the loader, the writers, the on-disk cache, git facts."""
