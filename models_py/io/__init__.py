"""Input-output tables: reading CEADs city MRIO files (``ceads``) and the Leontief engine
(``leontief``)."""
