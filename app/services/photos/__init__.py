"""Listing photos: decoding and cleaning uploads (``images``)."""
