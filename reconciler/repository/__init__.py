"""Reading and writing the config repository; every file access of the reconciler goes through here.

Reading, in the order a run uses it: :mod:`~reconciler.repository.loader` walks ``configs/``
into a DesiredState (and opens the run's on-disk cache, :mod:`~reconciler.repository.cache`
with :mod:`~reconciler.repository.cachetrust`), :mod:`~reconciler.repository.reader` reads its
documents, :mod:`~reconciler.repository.safepath` opens each file safely,
:mod:`~reconciler.repository.yamlbuild` and :mod:`~reconciler.repository.yamlscalars` turn YAML
into JSON data with a source map; :mod:`~reconciler.repository.yamlsafe` is the entry point for a
single file (settings, policies). Writing: :mod:`~reconciler.repository.yamlwrite` (with
:mod:`~reconciler.repository.yamlhints`) and :mod:`~reconciler.repository.writer`.
:mod:`~reconciler.repository.gitinfo` answers what git knows. :mod:`~reconciler.repository.sourcefile` reads
``source:`` of ``reconciler.yaml`` and every duration. Checking the content is left to
:mod:`reconciler.checks`.
"""
