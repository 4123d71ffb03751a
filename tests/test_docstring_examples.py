"""The examples in the public docstrings run and print what they say."""

import doctest

import pytest

import napari_thunder.data.images
import napari_thunder.images


@pytest.mark.parametrize("module", [napari_thunder.images, napari_thunder.data.images])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
