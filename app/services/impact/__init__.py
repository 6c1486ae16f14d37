"""The impact domain's rules: the impact factors of one record (``factors``), the indicator
catalogue (``catalogue``), the aggregates behind ``GET /v1/impact`` (``query``, with its
``periods`` and its small-number ``suppression``), and the yearly report's figures
(``report``)."""
