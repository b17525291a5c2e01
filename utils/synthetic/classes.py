"""The Cityscapes train ids the scenes are labelled with; ``VOID`` is the ignore id."""

from utils import labels

VOID = labels.IGNORE_ID
ROAD = labels.class_id("road")
SIDEWALK = labels.class_id("sidewalk")
BUILDING = labels.class_id("building")
WALL = labels.class_id("wall")
FENCE = labels.class_id("fence")
POLE = labels.class_id("pole")
LIGHT = labels.class_id("traffic light")
SIGN = labels.class_id("traffic sign")
VEGETATION = labels.class_id("vegetation")
TERRAIN = labels.class_id("terrain")
SKY = labels.class_id("sky")
PERSON = labels.class_id("person")
RIDER = labels.class_id("rider")
CAR = labels.class_id("car")
TRUCK = labels.class_id("truck")
BUS = labels.class_id("bus")
TRAIN = labels.class_id("train")
MOTORCYCLE = labels.class_id("motorcycle")
BICYCLE = labels.class_id("bicycle")
