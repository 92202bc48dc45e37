"""三管三必须 as data: industries, the versioned duty map, enterprise posts, chain resolution, coverage."""
