"""Offline translation zh↔it↔en on Argos Translate packages, run directly with CTranslate2.

    packages.py  .argosmodel files ↔ <models_dir>/translate-<from>_<to>: list, install, remove
    split.py     text → paragraphs → sentences (rule-based, offline)
    engine.py    Translator: texts → translations, all sentences batched, zh↔it via English
    cached.py    translate_cached: the archive's translation cache in front of a translator

argostranslate itself is never imported here: it reads settings from the environment at import
time and may download a sentence splitter. Import the submodules directly (the engine loads
CTranslate2, which takes a moment).
"""
