"""Mask completion with a small 3D U-Net (issue 15): network, inputs, baselines, training and
evaluation. Modules that need PyTorch import it inside their functions, so importing this
package (and starting the app) never loads torch. The public entry point is
``synanno_dash.services.mask_completion.complete_mask``."""
