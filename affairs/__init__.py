"""The matters themselves: regions and departments, catalogue and guides, cases (办件) and their workflow,
working-day clock, audit chain, e-certificates, ratings, statistics."""
