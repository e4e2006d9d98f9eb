"""Small building blocks every package shares: error codes, ids, masking of personal data, JSON body parsing,
the MongoDB repository base. Pure code with no I/O of its own and no imports from other project packages.

(The design map has no home for these; a package of their own keeps `config` about configuration and stops
domain packages importing each other for helpers.)
"""
