import pytest
from mmcv import Config
from mmdet.models import build_loss

from mmhrkpt.utils import ConfigError, check_config_types, explain_error, import_mmpose
from mmhrkpt.utils.config_check import close_matches


def test_scoped_type_suggests_the_scoped_name():
    import_mmpose('models')  # registers mmpose's losses under the 'mmpose' scope
    with pytest.raises(KeyError) as err:
        build_loss(dict(type='mmpose.JointsMSELos'))
    assert "did you mean 'mmpose.JointsMSELoss'" in explain_error(err.value)


def test_close_matches_prefers_the_case_insensitive_name():
    assert close_matches('heatmapmseloss', ['HeatmapMSELoss', 'MSELoss', 'L1Loss'])[0] == \
        'HeatmapMSELoss'
    assert close_matches('Nothing', ['HeatmapMSELoss']) == []


def test_every_unknown_type_is_listed_with_where_it_is():
    cfg = Config(
        dict(
            data=dict(train=dict(type='CocoKeypointDatset', pipeline=[dict(type='KeypointResise')])),
            runner=dict(type='AtomicEpochBasedRuner'),
            optimizer=dict(type='SGD'),
            custom_hooks=[dict(type='FiniteLosHook')]))
    with pytest.raises(ConfigError) as err:
        check_config_types(cfg)
    text = str(err.value)
    for where, suggestion in (('data.train.type', 'CocoKeypointDataset'), ('data.train.pipeline[0].type',
                                                                           'KeypointResize'),
                              ('runner.type', 'AtomicEpochBasedRunner'), ('custom_hooks[0].type',
                                                                          'FiniteLossHook')):
        assert where in text and suggestion in text, (where, text)
    assert 'optimizer' not in text  # SGD exists
