"""Every SQL statement of the impact domain: the factors (``factors``), the rollups the
aggregates read (``rollup``) and what the yearly report reads besides (``report``)."""
