"""Storage: SQLModel tables, the engine and sessions, migrations. The only layer that speaks SQL."""
