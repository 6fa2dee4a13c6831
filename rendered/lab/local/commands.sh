# Commands of local, in order (gitlab-ha offline render).

# [1] lab-image
#     after: -
#     stdin: none
bash components/lab/build-host-image.sh gitlab-ha-lab-host:3264581928dd

# [2] lab-gitlab-stand-in
#     after: lab-image
#     stdin: none
docker image inspect gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0 >/dev/null 2>&1 || docker tag gitlab-ha-lab-host:3264581928dd gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0

# [3] lab-slot-free
#     after: -
#     stdin: none
bash components/lab/scripts/slot-free.sh lab 38 gitlab-ha-lab 172.31.88.0/24 20760 20761 20762 20763 20764 20777 20778 20779

# [4] gitlab-gitlab-volume
#     after: drbd-gitlab-links, firewall-gitlab-apply, lab-gitlab-stand-in, postgres-pgsql-objects
#     stdin: none
install -d -m 0755 /var/tmp/gitlab-ha-lab/etc/gitlab /var/tmp/gitlab-ha-lab/var/opt/gitlab /var/tmp/gitlab-ha-lab/var/log/gitlab

# [5] gitlab-gitlab2-volume
#     after: drbd-gitlab2-links, firewall-gitlab2-apply, lab-gitlab-stand-in, postgres-pgsql-objects
#     stdin: none
install -d -m 0755 /var/tmp/gitlab-ha-lab/etc/gitlab /var/tmp/gitlab-ha-lab/var/opt/gitlab /var/tmp/gitlab-ha-lab/var/log/gitlab
