"""Solaris and illumos zones: what `zoneadm`, `zonecfg` and `uname` print, turned into the model, and the
command lines and Plans that change a global zone."""
