// Test fixtures and helpers shared by the unit tests.
