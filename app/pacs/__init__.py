"""Hospital integration (Qt-free): PACS nodes, query/retrieve in DIMSE (pynetdicom) and DICOMweb
(dicomweb-client), a size-limited local cache of retrieved series, and storing our results back.

Layer: beside app/data (may import app.data and app.tasks only); app/report builds the DICOM results
and sends them through here, app/ui and app/commands call in.

    nodes.py      node settings: DimseNode (AET@HOST:PORT), DicomWebNode (URL + optional auth)
    models.py     StudyMatch / SeriesMatch / QueryFilter (frozen dataclasses); progress is app.tasks.Progress
    dimse.py      C-ECHO, C-FIND (study, series), C-GET, C-MOVE (own storage SCP), C-STORE
    dicomweb.py   QIDO-RS, WADO-RS, STOW-RS
    cache.py      retrieved series on disk: complete or absent, never half (size-limited, LRU)
    retrieve.py   one entry point for either dialect: find, retrieve into the cache, store
"""
