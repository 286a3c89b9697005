"""brushwork: learn an image style with a GAN from a folder of images, apply it anywhere."""

from .api import train_style
from .augment import StyleAugment, augment
from .errors import BrushworkError
from .stylizer import Stylizer

__version__ = "0.1.0"
__all__ = ["BrushworkError", "StyleAugment", "Stylizer", "__version__", "augment", "train_style"]
