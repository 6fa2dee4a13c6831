# Commands of local, in order (gitlab-ha offline render).

# [1] lab-image
#     after: -
#     stdin: none
bash components/lab/build-host-image.sh gitlab-ha-lab-host:3264581928dd

# [2] lab-gitlab-stand-in
#     after: lab-image
#     stdin: none
docker image inspect gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0 >/dev/null 2>&1 || docker tag gitlab-ha-lab-host:3264581928dd gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0
