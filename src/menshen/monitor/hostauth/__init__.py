"""Host-authentication detectors over Windows-domain logons (LANL, Windows 4624…4776).

Pure: ``HostAuthDetectors`` (``detect``) combines new user→computer, computer→computer and
user→source pairs, rare authentication/logon types (for the user, the destination and the
source), a first-seen source computer, source fan-out and spread into Findings; ``codec``
turns their learned state into versioned JSON for the store; ``LanlReader`` (``lanl``) reads
the LANL text format fast (Kent 2015, doi:10.17021/1179829). See docs/monitoring.md.
"""
