"""Host-authentication detectors over Windows-domain logons (LANL, Windows 4624…4776).

Pure: ``HostAuthDetectors`` (``detect``) combines new user→computer and computer→computer
pairs, rare authentication/logon types and source fan-out into Findings; ``LanlReader``
(``lanl``) reads the LANL text format fast. See docs/monitoring.md.
"""
